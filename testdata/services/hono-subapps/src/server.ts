import { Hono } from "hono";
import { route as files } from "./routes/files";
import { route as download } from "./routes/download";

const app = new Hono();
app.route("/api", files);
app.route("/api", download);

export default app;
