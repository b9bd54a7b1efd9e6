// The smallest app: a plain node:http request listener.
//   npx gpe-server -w 2 examples/hello.js      → http://127.0.0.1:8000, metrics on :9090
export default function hello(req, res) {
  if (req.url?.startsWith("/sleep")) {
    // /sleep?ms=500 answers after a pause; handy to watch a busy worker.
    const ms = Number(new URL(req.url, "http://x").searchParams.get("ms") ?? 1000);
    setTimeout(() => res.end(`slept ${ms} ms in ${process.pid}\n`), ms);
    return;
  }
  res.setHeader("content-type", "text/plain");
  res.end(`Hello from worker ${process.pid}\n`);
}
