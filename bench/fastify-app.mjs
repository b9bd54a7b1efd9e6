// The Fastify scenario's app: the Express scenario's routes, as a Fastify service writes them.
import Fastify from "fastify";

const app = Fastify();
app.get("/", async () => "ok\n"); // the bench waits for it to answer
app.get("/users/:id", async (req) => ({ id: req.params.id }));
app.get("/users/:id/posts/:post", async (req) => ({ user: req.params.id, post: req.params.post }));
app.post("/users/:id/posts", async (req, reply) => reply.code(201).send({ user: req.params.id }));
export default app;
