const express = require("express");
const api = require("./routes/index");

const app = express();
app.use("/api", api);
