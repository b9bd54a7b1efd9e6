// A WebSocket chat beside plain HTTP, with the ws package's standard setup: a server of your own
// and new WebSocketServer({ server }). Under gpe-server the upgrade reaches the app's listener, is
// counted (gunicorn_worker_upgrades_total, gunicorn_worker_upgraded_connections), and holds no
// request slot. Run with the async (default) or sync worker:
//   npx gpe-server -w 2 examples/websocket-chat.mjs
// Each worker has its own set of clients: to reach every client, publish through Redis or similar.
import http from "node:http";
import { WebSocketServer } from "ws";

const server = http.createServer((_req, res) => {
  res.setHeader("content-type", "text/plain");
  res.end(`chat server, worker ${process.pid}: connect with a WebSocket client\n`);
});
const wss = new WebSocketServer({ server });
wss.on("connection", (ws) => {
  ws.send(`welcome to worker ${process.pid}`);
  ws.on("message", (data) => {
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(String(data));
  });
});

// Closing the clients on a graceful stop lets the worker exit without waiting out graceful_timeout.
export function close() {
  for (const client of wss.clients) client.close(1001, "server restarting");
}

server.listen(Number(process.env.PORT ?? 3000));
