// A Hono app served as it is: gpe-server runs its fetch handler through @hono/node-server (install
// it beside hono) and labels the per-route metrics with Hono's route templates.
//   npx gpe-server -w 2 examples/hono-app.mjs
import { Hono } from "hono";

const app = new Hono();
app.use("*", async (c, next) => {
  await next();
  c.header("x-served-by", "hono");
});
app.get("/", (c) => c.json({ hello: "hono", pid: process.pid }));
const api = new Hono();
api.get("/items/:sku", (c) => {
  if (c.req.param("sku") === "none") throw new Error("out of stock");
  return c.json({ sku: c.req.param("sku") });
});
api.post("/items", async (c) => c.json(await c.req.json(), 201));
app.route("/api/v1", api);

export default app;
