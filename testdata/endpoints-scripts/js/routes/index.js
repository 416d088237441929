const { Router } = require("express");
import comments from "./comments";

const router = Router();
router.get("/status", status);
router.use("/comments", comments);
module.exports = router;
