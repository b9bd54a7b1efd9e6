#!/usr/bin/env node
import module from "node:module";

// Node 22.1+ keeps the compiled code of gpe-server and the app between starts; exported so that
// workers (forked with this environment) load from it too. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const cache = module.enableCompileCache?.();
if (cache?.directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = cache.directory;

const { main } = await import("../dist/cli/main.js");
main(process.argv.slice(2));
