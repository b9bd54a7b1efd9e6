// The boot scenario's second app: a handler that imports nothing, so only the server's own start is timed.
export default function plain(_req, res) {
  res.end("Hello, world\n");
}
