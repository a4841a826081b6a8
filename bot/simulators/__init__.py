"""Fake servers that speak the vendors' and Slack's documented protocols.

Tests, benchmarks and ``spendbot demo`` run them on loopback. They share no code with the clients in
``bot.vendors`` on purpose: a fake built from the client's own parsing could never catch the client's
mistakes.
"""
