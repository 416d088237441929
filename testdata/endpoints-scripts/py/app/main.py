from fastapi import APIRouter, FastAPI

from app.core.config import settings
from app.routes import items

api_router = APIRouter()
api_router.include_router(items.router)

app = FastAPI()
# The prefix lives in a settings constant.
app.include_router(api_router, prefix=settings.API_V1_STR)


@app.get("/healthz")
def healthz():
    return {"ok": True}
