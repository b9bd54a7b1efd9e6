// Bundles the worker's entry (compiled by tsc) into one module, plus one chunk per part it loads
// lazily (TLS, HTTP/2, threads, ...). A worker starts at every spawn, reload and recycle: one file
// instead of some forty spares Node resolving, reading and linking each on every start.
// The output sits beside the tsc output of the entry, and every sub-room of workers/ is one level
// deep, so a path a file builds from import.meta.url ("../stall/stall-thread.js") points at the
// same file from the bundle as from the file itself.
import { readdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

// Chunks of an earlier build have other hashes: remove them, or dist would keep every one.
for (const name of readdirSync("dist/workers/process")) {
  if (name.startsWith("bundle-") || name.startsWith("main.bundle.")) rmSync(`dist/workers/process/${name}`);
}

await build({
  entryPoints: { "main.bundle": "dist/workers/process/main.js" },
  outdir: "dist/workers/process",
  chunkNames: "bundle-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Dependencies stay where npm put them: the app may share them (prom-client's registry).
  packages: "external",
  sourcemap: "linked",
  logLevel: "warning",
});
