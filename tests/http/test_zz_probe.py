import json
from datetime import date

def show(r):
    print(r.request.method, r.request.url.path, r.status_code, r.headers.get("content-type"), r.text[:600])

def test_probe(books, client, make_tenant, api_for, clock):
    api = books["api"]
    h = api.headers()
    for body in ['{"invoice":"INV-1","lines":[{"line":1,"quantity":true}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":NaN}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":Infinity}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":1e999999}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":0.1}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":"1e5"}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":"0.00001"}]}',
                 '{"invoice":"INV-1","lines":[{"line":true,"quantity":"1"}]}',
                 '{"invoice":"INV-1","lines":[{"line":1.0,"quantity":"1"}]}',
                 '{"invoice":"INV-1","lines":[{"line":"1","quantity":"1"}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":"1"}],"payments":[{"method":"card","amount":11.5}]}',
                 '{"invoice":"INV-1","lines":[{"line":1,"quantity":"1"}],"payments":[{"method":"card","amount":"11.500"}]}',
                 ]:
        r = client.post("/v1/refunds/preview", content=body, headers={**h, "content-type": "application/json"})
        show(r)
    r = client.post("/v1/refunds", content="not json", headers={"content-type": "application/json"})
    show(r)
    r = client.post("/v1/refunds", json={"lines": []})
    show(r)
    r = api.post("/v1/refunds", {"invoice": "INV-1", "state": "draft", "lines": [{"line": 1, "quantity": "1"}]})
    show(r)
    rid = r.json()["id"]
    show(api.delete(f"/v1/refunds/{rid}"))
    show(api.get(f"/v1/refunds/{rid}"))
    show(api.get(f"/v1/refunds/{rid}/audit"))
    r = api.post("/v1/refunds", {"invoice": "INV-1", "lines": [{"line": 1, "quantity": "1"}]})
    rid = r.json()["id"]
    show(api.patch(f"/v1/refunds/{rid}", {"reason": "x"}))
    show(api.delete(f"/v1/refunds/{rid}"))
    show(api.post(f"/v1/refunds/{rid}/post"))
    show(api.post(f"/v1/refunds/{rid}/void"))
    show(api.post(f"/v1/refunds/{rid}/void"))
    show(api.get(f"/v1/refunds/{rid}/journal"))
    show(api.get("/v1/ledger/trial-balance"))
    show(api.get("/v1/stock"))
    show(api.get("/v1/periods"))
    show(api.get("/v1/refunds", limit=0))
    show(api.get("/v1/refunds", cursor="zzz"))
    show(api.get("/v1/refunds", cursor="LTE"))
    show(api.get("/v1/journal"))
    show(api.post("/v1/periods/close", {"through": "2026-06-15"}))
    show(api.post("/v1/periods/close", {"through": "2026-06-10"}))
    show(api.post("/v1/periods/reopen"))
    show(client.get("/healthz"))
    o = client.get("/openapi.json").json()
    print(sorted(o["paths"]))
    print(json.dumps(o["components"]["schemas"]["RefundLineIn"])[:800])
