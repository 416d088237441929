async def view(request, ids):
    for i in ids:
        Thing.objects.get(id=i)
    requests.get("http://x")
    return [x for x in Thing.objects.all()[:10]]
