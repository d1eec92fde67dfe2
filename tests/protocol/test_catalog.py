"""The aggregated catalog: order, routes, collisions, removal, resource routing, change reporting."""

from __future__ import annotations

from typing import Any

from mcpctl.protocol.catalog import Catalog, Collision, Route, template_pattern


def tools(*names: str) -> dict[str, list[dict[str, Any]]]:
    return {"tools": [{"name": name, "description": f"{name} tool", "inputSchema": {}} for name in names]}


def names(catalog: Catalog, kind: str = "tools") -> list[str]:
    return [entry["name"] for entry in catalog.view(kind)]


def test_aggregates_in_configuration_order_whatever_order_servers_come_up() -> None:
    catalog = Catalog(["alpha", "beta"])
    catalog.set_server("beta", "beta", tools("one"))
    catalog.set_server("alpha", "alpha", tools("two", "one"))
    assert names(catalog) == ["alpha__two", "alpha__one", "beta__one"]
    catalog.set_server("late", "late", tools("x"))  # not in the configuration: goes last
    assert names(catalog)[-1] == "late__x"


def test_routes_lead_back_to_the_original_names() -> None:
    catalog = Catalog(["fs"])
    catalog.set_server("fs", "fs", tools("read", "fs.write"))
    assert catalog.route_tool("fs__read") == Route("fs", "read")
    repaired = next(name for name in names(catalog) if name != "fs__read")
    assert catalog.route_tool(repaired) == Route("fs", "fs.write")
    assert catalog.route_tool("read") is None
    assert catalog.route_tool("fs__nope") is None
    assert catalog.exposed_tool_name("fs", "fs.write") == repaired


def test_renamed_entries_keep_their_other_fields_and_the_input_is_not_mutated() -> None:
    lists = tools("echo")
    catalog = Catalog(["a"])
    catalog.set_server("a", "a", lists)
    assert catalog.view("tools")[0] == {"name": "a__echo", "description": "echo tool", "inputSchema": {}}
    assert lists["tools"][0]["name"] == "echo"
    assert catalog.server_lists("a")["tools"][0]["name"] == "echo"


def test_prompts_are_named_and_routed_like_tools() -> None:
    catalog = Catalog(["a"])
    catalog.set_server("a", "a", {"prompts": [{"name": "greet"}]})
    assert names(catalog, "prompts") == ["a__greet"]
    assert catalog.route_prompt("a__greet") == Route("a", "greet")
    assert catalog.route_tool("a__greet") is None


def test_collisions_are_reported_not_fatal_and_the_first_server_wins() -> None:
    catalog = Catalog(["first", "second"])
    # Prefix "a" + tool "b__c" and prefix "a__b" + tool "c" both expose "a__b__c".
    catalog.set_server("second", "a__b", tools("c", "d"))
    catalog.set_server("first", "a", tools("b__c"))
    assert names(catalog) == ["a__b__c", "a__b__d"]
    assert catalog.route_tool("a__b__c") == Route("first", "b__c")
    assert catalog.collisions == [Collision("tool", "a__b__c", "first", "second")]
    assert "kept from 'first', hidden from 'second'" in catalog.collisions[0].describe()


def test_a_server_listing_a_name_twice_keeps_the_first() -> None:
    catalog = Catalog(["a"])
    catalog.set_server("a", "", {"tools": [{"name": "x", "v": 1}, {"name": "x", "v": 2}]})
    assert catalog.view("tools") == [{"name": "x", "v": 1}]
    assert [c.name for c in catalog.collisions] == ["x"]


def test_entries_without_a_usable_name_or_uri_are_skipped() -> None:
    catalog = Catalog(["a"])
    catalog.set_server(
        "a",
        "a",
        {
            "tools": [{"description": "nameless"}, {"name": 7}, {"name": "ok"}],
            "resources": [{"name": "no uri"}, {"uri": "file:///x"}],
        },
    )
    assert names(catalog) == ["a__ok"]
    assert catalog.view("resources") == [{"uri": "file:///x"}]


def test_removal_forgets_routes_and_reports_what_changed() -> None:
    catalog = Catalog(["a", "b"])
    catalog.set_server("a", "a", tools("x"))
    catalog.set_server("b", "b", {**tools("y"), "prompts": [{"name": "p"}]})
    assert catalog.remove_server("b") == {"tools", "prompts"}
    assert catalog.route_tool("b__y") is None
    assert catalog.route_prompt("b__p") is None
    assert not catalog.has_server("b")
    assert catalog.has_server("a")
    assert catalog.remove_server("b") == set()  # unknown: nothing changed
    assert catalog.server_lists("b") == {"tools": [], "prompts": [], "resources": [], "resourceTemplates": []}


def test_removing_the_winner_of_a_collision_reveals_the_other() -> None:
    catalog = Catalog(["first", "second"])
    catalog.set_server("first", "", tools("x"))
    catalog.set_server("second", "", tools("x"))
    catalog.remove_server("first")
    assert catalog.route_tool("x") == Route("second", "x")
    assert catalog.collisions == []


def test_set_server_returns_exactly_the_kinds_that_changed() -> None:
    catalog = Catalog(["a", "b"])
    assert catalog.set_server("a", "a", {}) == set()  # nothing to show: no view changed
    assert catalog.set_server("a", "a", tools("x")) == {"tools"}
    assert catalog.set_server("a", "a", tools("x")) == set()  # the same lists again
    assert catalog.set_server("a", "a", {**tools("x"), "prompts": [{"name": "p"}]}) == {"prompts"}
    templates = {"resourceTemplates": [{"uriTemplate": "a://{id}", "name": "t"}]}
    assert catalog.set_server("a", "a", {**tools("x"), "prompts": [{"name": "p"}], **templates}) == {
        "resourceTemplates"
    }
    assert catalog.set_server("a", "renamed", {**tools("x"), "prompts": [{"name": "p"}], **templates}) == {
        "tools",
        "prompts",
    }
    # A server whose only tool is hidden by a collision changes nothing that clients see.
    catalog.set_server("b", "renamed", tools("x"))
    assert catalog.set_server("b", "renamed", tools("x")) == set()
    # When a drops x, b's identical entry shows through: clients see no tools change, the route moves.
    assert catalog.set_server("a", "renamed", {"resources": [{"uri": "r://1"}]}) == {
        "prompts",
        "resources",
        "resourceTemplates",
    }
    assert catalog.route_tool("renamed__x") == Route("b", "x")


def test_resource_routing_exact_uri_first() -> None:
    catalog = Catalog(["a", "b"])
    catalog.set_server("a", "a", {"resourceTemplates": [{"uriTemplate": "file:///{+path}"}]})
    catalog.set_server("b", "b", {"resources": [{"uri": "file:///etc/motd"}]})
    assert catalog.route_resource("file:///etc/motd") == "b"
    assert catalog.route_resource("file:///etc/hosts") == "a"


def test_resource_routing_prefers_the_most_specific_template() -> None:
    catalog = Catalog(["wide", "narrow"])
    catalog.set_server("wide", "wide", {"resourceTemplates": [{"uriTemplate": "repo://{owner}/{name}"}]})
    catalog.set_server("narrow", "narrow", {"resourceTemplates": [{"uriTemplate": "repo://octo/{name}"}]})
    assert catalog.route_resource("repo://octo/cat") == "narrow"
    assert catalog.route_resource("repo://other/cat") == "wide"
    assert catalog.route_resource("repo://octo/cat/extra") is None  # {name} is one segment


def test_equally_specific_templates_go_to_the_first_server() -> None:
    catalog = Catalog(["one", "two"])
    for server in ("two", "one"):
        catalog.set_server(server, server, {"resourceTemplates": [{"uriTemplate": "x://{id}"}]})
    assert catalog.route_resource("x://7") == "one"


def test_single_offerer_fallback() -> None:
    catalog = Catalog(["tools_only", "files"])
    catalog.set_server("tools_only", "t", tools("x"))
    catalog.set_server("files", "f", {"resources": [{"uri": "file:///listed"}]})
    # Unlisted and unmatched, but only one server offers resources at all: it is the only place to go.
    assert catalog.route_resource("file:///unlisted") == "files"
    catalog.set_server("more", "m", {"resourceTemplates": [{"uriTemplate": "db://{table}"}]})
    assert catalog.route_resource("file:///unlisted") is None  # two offerers: no guessing
    empty = Catalog(["a"])
    empty.set_server("a", "a", tools("x"))
    assert empty.route_resource("file:///x") is None


def test_duplicate_resource_uris_keep_the_first_server() -> None:
    catalog = Catalog(["a", "b"])
    catalog.set_server("b", "b", {"resources": [{"uri": "r://same", "name": "from b"}]})
    catalog.set_server("a", "a", {"resources": [{"uri": "r://same", "name": "from a"}]})
    assert catalog.view("resources") == [{"uri": "r://same", "name": "from a"}]
    assert catalog.route_resource("r://same") == "a"
    assert catalog.collisions == [Collision("resource", "r://same", "a", "b")]


def test_template_patterns() -> None:
    assert template_pattern("file:///{path}").fullmatch("file:///a")
    assert not template_pattern("file:///{path}").fullmatch("file:///a/b")
    assert template_pattern("file:///{+path}").fullmatch("file:///a/b")
    assert template_pattern("search://q{?query,limit}").fullmatch("search://q?query=x&limit=2")
    assert template_pattern("a.b://{x}").fullmatch("a.b://1")
    assert not template_pattern("a.b://{x}").fullmatch("aXb://1")  # literal dots stay literal
