"""The officers' work ledger (帮扶工作台账): plans, visits, declared income, warnings, proposals, inspections."""
