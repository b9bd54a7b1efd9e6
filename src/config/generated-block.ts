// A page of docs/ that keeps its prose around a block generated from a table: the block sits
// between two marker comments, and only it is rewritten.

/** The markers of the block a table generates, named after the table's source file. */
export function blockMarkers(what: string, source: string): { begin: string; end: string } {
  return {
    begin: `<!-- ${what}: generated from ${source} by npm run docs; do not edit by hand -->`,
    end: `<!-- end of generated ${what} -->`,
  };
}

/** `page` with the block between the markers replaced by `body`; throws when the markers are missing. */
export function withBlock(page: string, markers: { begin: string; end: string }, body: string): string {
  const begin = page.indexOf(markers.begin);
  const end = page.indexOf(markers.end);
  if (begin < 0 || end < begin) throw new Error(`the markers "${markers.begin}" are missing from the page`);
  return `${page.slice(0, begin + markers.begin.length)}\n${body}${page.slice(end)}`;
}
