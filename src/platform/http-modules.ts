// node:http, and on demand node:https and node:tls, loaded with require. An ES import of node:http
// reads every export, and on Node 22 and 24 its lazy WebSocket export then loads undici: about
// 70 ms of each worker's boot (docs/performance.md). TLS is loaded only by workers that use it.
// Types still come from ordinary `import type`.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export const http = require("node:http") as typeof import("node:http");
export const https = (): typeof import("node:https") => require("node:https");
export const tls = (): typeof import("node:tls") => require("node:tls");
