// The Express scenario's app: a small router with route parameters, as most Express services are.
import express from "express";

const app = express();
app.get("/", (_req, res) => res.send("ok\n")); // the bench waits for it to answer
app.get("/users/:id", (req, res) => res.json({ id: req.params.id }));
app.get("/users/:id/posts/:post", (req, res) => res.json({ user: req.params.id, post: req.params.post }));
app.post("/users/:id/posts", (req, res) => res.status(201).json({ user: req.params.id }));
export default app;
