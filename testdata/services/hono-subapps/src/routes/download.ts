import { Hono } from "hono";

export const route = new Hono();
route.post("/download/:id", async (c) => c.text("bytes"));
