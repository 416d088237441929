import { Router } from "express";

const router = Router();
router.post("/", createComment);
router.get("/:id", getComment);
export default router;
