// A TypeScript app, loaded directly (no build step), with typed request and response.
//   npx gpe-server -w 2 examples/typescript-app.ts
import type { IncomingMessage, ServerResponse } from "node:http";

interface Greeting {
  hello: string;
  pid: number;
  path: string;
}

export default function app(req: IncomingMessage, res: ServerResponse): void {
  const body: Greeting = { hello: "typescript", pid: process.pid, path: req.url ?? "/" };
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(body));
}
