from fastapi import APIRouter, FastAPI

from app.routes import items

api_router = APIRouter()
api_router.include_router(items.router)

app = FastAPI()
app.include_router(api_router, prefix="/api/v1")


@app.get("/healthz")
def healthz():
    return {"ok": True}
