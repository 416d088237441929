import { Hono } from "hono";

export const route = new Hono();
route.get("/files/:id", async (c) => c.text("file"));
