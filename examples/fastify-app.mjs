// A Fastify instance served as it is (gpe-server calls ready() and routes requests to it).
//   npx gpe-server -w 2 -k async examples/fastify-app.mjs
import Fastify from "fastify";

class OutOfStock extends Error {}

const app = Fastify();
app.get("/", async () => ({ hello: "fastify", pid: process.pid }));
app.get("/items/:sku", async (req) => {
  if (req.params.sku === "none") throw new OutOfStock(`${req.params.sku} is out of stock`);
  return { sku: req.params.sku };
});

export default app;
