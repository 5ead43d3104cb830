"""The API's query languages as data: the `where` predicate grammar and `sort` expressions.

Neutral ground: the MCP server reads field paths out of them (hidden fields, unknown fields), the emulator
compiles them to SQL. Nothing here knows about MCP, HTTP or the emulator.
"""
