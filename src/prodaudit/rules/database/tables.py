"""What a table is for, guessed from names; shared by the database rules.

Not a rule. Table roles decide severities and exclusions (a cascade from `users` onto
their own rows is ordinary account deletion; one from `anime` onto `favorites` is not), so
every rule names them the same way. Names are a heuristic: the rules that use them say so
in their Known limitations.
"""

from __future__ import annotations

import re

USER_TABLE = re.compile(r"^(auth_)?(users?|accounts?|customers?|members?|profiles?|"
                        r"user_?profiles?|clients?|players?|subscribers?)$", re.IGNORECASE)
# Columns that say who owns a row (not audit columns like created_by/updated_by).
OWNER_COLUMN = re.compile(r"^(user|owner|customer|account|member|buyer|client|profile|player|"
                          r"subscriber|telegram_user|tg_user)_?id$", re.IGNORECASE)
# Records that accounting and payment disputes need kept after the customer is gone.
FINANCIAL_TABLE = re.compile(r"(^|_)(orders?|payments?|invoices?|transactions?|purchases?|"
                             r"receipts?|refunds?|charges?|ledgers?|billings?|deposits?|"
                             r"withdrawals?|payouts?|buys?|sales?)$", re.IGNORECASE)
# Reference data that stays small by nature.
LOOKUP_TABLE = re.compile(r"(^|_)(roles?|permissions?|categor(y|ies)|tags?|genres?|settings?|"
                          r"countr(y|ies)|currenc(y|ies)|languages?|locales?|plans?|tiers?|"
                          r"features?|configs?|configurations?|statuses|types|kinds|regions?|"
                          r"providers?|sources?)$", re.IGNORECASE)


def is_user_table(table: str | None) -> bool:
    return bool(table) and USER_TABLE.search(table) is not None


def is_financial_table(table: str | None) -> bool:
    return bool(table) and FINANCIAL_TABLE.search(table) is not None


def is_lookup_table(table: str | None) -> bool:
    return bool(table) and LOOKUP_TABLE.search(table) is not None
