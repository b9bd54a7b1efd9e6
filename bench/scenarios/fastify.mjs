// The Express scenario's routes on Fastify, under gpe-server, PM2 and bare node:cluster. Targets:
// at least PM2's throughput, and 0.97 x bare.
import { framework } from "./express.mjs";

export async function run() {
  await framework("Fastify", "fastify-app.mjs");
}
