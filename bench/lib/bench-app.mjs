// The request handler of the bench's app for the baselines (bare node:cluster, PM2), which serve it
// with their own http.createServer. BENCH_APP: another app module of bench/ (a framework
// scenario's). A Fastify instance is made ready and its own request handler taken: what its
// listen() would serve.
export async function benchHandler() {
  const { default: app } = await import(process.env.BENCH_APP ?? "../hello.mjs");
  if (typeof app?.ready === "function" && app.server !== undefined) {
    await app.ready();
    return app.server.listeners("request")[0];
  }
  return app;
}
