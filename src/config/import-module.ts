// Importing a config file or an app module, TypeScript included, fresh each time (HUP re-reads).
import { extname } from "node:path";
import { pathToFileURL } from "node:url";

export async function importModule(path: string): Promise<Record<string, unknown>> {
  const ext = extname(path);
  if (ext === ".ts" || ext === ".mts" || ext === ".cts") {
    // jiti compiles TypeScript on the fly; no cache so that HUP re-reads an edited file.
    const { createJiti } = await import("jiti");
    const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: false });
    return (await jiti.import(path)) as Record<string, unknown>;
  }
  // A query string defeats Node's ESM cache so HUP sees an edited file.
  const url = pathToFileURL(path);
  url.search = `?t=${Date.now()}`;
  return (await import(url.href)) as Record<string, unknown>;
}
