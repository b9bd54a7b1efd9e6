// The bench's app as PM2 runs it: a script that listens itself (PM2's cluster mode shares the port
// through node:cluster). PORT, and HOSTS (loopback addresses, comma-separated), from the environment.
import http from "node:http";

import { benchHandler } from "./lib/bench-app.mjs";

const app = await benchHandler();

const port = Number(process.env.PORT);
for (const host of (process.env.HOSTS ?? "127.0.0.1").split(",")) http.createServer(app).listen(port, host);
