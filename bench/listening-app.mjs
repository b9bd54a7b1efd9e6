// The bench's app as PM2 runs it: a script that listens itself (PM2's cluster mode shares the port
// through node:cluster). PORT, and HOSTS (loopback addresses, comma-separated), from the environment.
import http from "node:http";

// BENCH_APP: another app module of bench/ (the Express scenario's).
const { default: app } = await import(process.env.BENCH_APP ?? "./hello.mjs");

const port = Number(process.env.PORT);
for (const host of (process.env.HOSTS ?? "127.0.0.1").split(",")) http.createServer(app).listen(port, host);
