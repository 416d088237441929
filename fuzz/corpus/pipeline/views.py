from django.http import JsonResponse

from .models import Order, Customer


def order_summaries(request):
    orders = Order.objects.filter(status="open")[:100]
    out = []
    for order in orders:
        # expect: n-plus-one-query
        customer = Customer.objects.get(id=order.customer_id)
        out.append({"id": order.id, "customer": customer.name})
    return JsonResponse(out, safe=False)


def with_sqlalchemy(session, user_ids):
    # expect: n-plus-one-query
    return [session.query(User).filter(User.id == uid).first() for uid in user_ids]


async def asyncpg_loop(conn, ids):
    for i in ids:
        # expect: n-plus-one-query
        await conn.fetchrow("SELECT * FROM users WHERE id = $1", i)


def batched(request):
    orders = list(Order.objects.filter(status="open")[:100])
    customers = Customer.objects.in_bulk([o.customer_id for o in orders])
    names = [customers[o.customer_id].name for o in orders]
    for status in ["open", "closed"]:
        Order.objects.filter(status=status).count()
    return names
