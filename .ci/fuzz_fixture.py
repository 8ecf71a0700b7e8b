"""Seeding and clean-up for .ci/fuzz-api, through the public API and AMQP only.

seed BASE_URL SLUG OUT_TOML: an owner with a restaurant, stations, a menu (a category routed
to a station, an item with variants and modifiers), a kitchen cook on the staff and one
confirmed order; writes the schemathesis settings that point every path parameter at them.
delete-exchange AMQP_URL NAME: removes the run's exchange.
"""

import json
import secrets
import sys

import requests


def call(method, url, token=None, body=None, expect=(200, 201)):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, url, json=body, headers=headers, timeout=30)
    if response.status_code not in expect:
        sys.exit(f"fuzz seed: {method} {url} answered {response.status_code}: {response.text}")
    return response.json() if response.content else None


def register(base, email):
    # A random password per run: nothing of it is kept but the token.
    body = {"email": email, "password": secrets.token_hex(16), "first_name": "Fuzz", "last_name": "Seed"}
    return call("POST", f"{base}/api/auth/register/", body=body)


def seed(base, slug, out_path):
    owner = register(base, f"owner@{slug}.test")
    cook = register(base, f"cook@{slug}.test")
    token = owner["access"]
    call("POST", f"{base}/api/restaurants/", token, {"name": "Fuzz Trattoria", "slug": slug})
    api = f"{base}/api/restaurants/{slug}"
    call("POST", f"{api}/staff/", token, {"email": cook["user"]["email"], "role": "kitchen"})
    grill = call("POST", f"{api}/stations/", token, {"name": "grill"})
    call("POST", f"{api}/stations/", token, {"name": "bar"})
    category = call(
        "POST", f"{api}/menu/categories/", token, {"name": "Pizze", "station_id": grill["id"]}
    )
    item = call(
        "POST",
        f"{api}/menu/items/",
        token,
        {
            "category_id": category["id"],
            "name": "Margherita",
            "description": "Tomato, mozzarella, basil",
            "variants": [{"label": "Large", "price": "11.50"}, {"label": "Small", "price": "8.00"}],
            "modifiers": [
                {"name": "Extra cheese", "price_adjustment": "2.00"},
                {"name": "Chili", "price_adjustment": "0.50"},
            ],
        },
    )
    order = call(
        "POST",
        f"{base}/api/order/{slug}/confirm/",
        body={
            "items": [
                {
                    "menu_item_id": item["id"],
                    "variant_id": item["variants"][0]["id"],
                    "quantity": 2,
                    "modifier_ids": [item["modifiers"][0]["id"]],
                }
            ],
            "raw_input": "two margherite",
            "table_identifier": "7",
        },
    )
    # Only what no operation deletes: a fixed id wins over the one a stateful step takes from
    # a response, so a fixed station or staff member, once deleted, would make every later
    # step on a new one a 404. Stations and staff are reached through the document's links.
    parameters = {
        "slug": slug,
        "category_id": category["id"],
        "item_id": item["id"],
        "variant_id": item["variants"][0]["id"],
        "modifier_id": item["modifiers"][0]["id"],
        "order_id": order["id"],
    }
    with open(out_path, "w", encoding="utf-8") as out:
        out.write("# Written by .ci/fuzz_fixture.py for one run: the seeded restaurant's ids.\n")
        out.write("[parameters]\n")
        for name, value in parameters.items():
            out.write(f"{name} = {json.dumps(value)}\n")
    print(token)


def delete_exchange(amqp_url, name):
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        connection.channel().exchange_delete(exchange=name)
    finally:
        connection.close()


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "seed":
        seed(*args)
    elif command == "delete-exchange":
        delete_exchange(*args)
    else:
        sys.exit(f"unknown command {command}")
