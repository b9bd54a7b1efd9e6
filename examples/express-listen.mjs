// An Express server as Express's README starts it: app.listen(PORT). Nothing to change to run it
// under gpe-server: the worker takes over listen(), serves the app on gpe-server's address
// (-b), and the port asked for here is never bound.
//   npx gpe-server -w 2 -b 0.0.0.0:8000 examples/express-listen.mjs
import express from "express";

const app = express();
app.get("/", (_req, res) => res.json({ hello: "express", pid: process.pid }));
app.get("/orders/:id", (req, res) => res.json({ order: req.params.id }));

const PORT = Number(process.env.PORT ?? 3000);
const server = app.listen(PORT, () => {
  // server.address() reports the address gpe-server serves on.
  console.log(`listening on ${JSON.stringify(server.address())}`);
});
