// A Koa app with @koa/router.
//   npx gpe-server -w 2 -k async examples/koa-app.mjs
import Koa from "koa";
import Router from "@koa/router";

const app = new Koa();
const router = new Router();
router.get("/", (ctx) => {
  ctx.body = { hello: "koa", pid: process.pid };
});
router.get("/orders/:id", (ctx) => {
  ctx.body = { id: ctx.params.id };
});
app.use(router.routes()).use(router.allowedMethods());

export default app;
