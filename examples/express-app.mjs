// An Express app served as it is: gpe-server labels failures with the route template
// (endpoint="/users/:id"), not the raw path, so the series stay bounded.
//   npx gpe-server -w 2 examples/express-app.mjs
import express from "express";

class UserNotFound extends Error {}

const app = express();
app.get("/", (_req, res) => res.json({ hello: "express", pid: process.pid }));
app.get("/users/:id", (req, res) => {
  if (req.params.id === "0") throw new UserNotFound(`no user ${req.params.id}`);
  if (req.params.id === "crash") throw new TypeError("a bug in the handler");
  res.json({ id: req.params.id });
});
// Your own error handler still answers what it knows; what it passes on, Express answers with a
// 500 and gpe-server counts as a failure of the route.
app.use((err, _req, res, next) => {
  if (err instanceof UserNotFound) return res.status(404).json({ error: err.message });
  next(err);
});

export default app;
