"use strict";
(() => {
  const data = JSON.parse(document.getElementById("cjm-data").textContent);
  const $ = (id) => document.getElementById(id);
  const controls = { stages: $("stages"), paths: $("paths"), view: $("view"), group: $("group"),
                     goals: $("goals"), handoffs: $("handoffs") };
  const count = (n) => Number(n).toLocaleString("en-US");
  const pct = (share) => Math.round(share * 100) + "%";
  const name = (key) => key === "start" ? "(start)" : key === "end" ? "(end)"
    : data.names[Number(key)];
  let selected = null;

  data.groups.forEach((group, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = group.label + " (" + count(group.journeys) + " journeys)";
    controls.group.appendChild(option);
  });
  controls.group.disabled = data.groups.length < 2;
  controls.stages.value = String(data.start[0]);
  controls.paths.value = String(data.start[1]);

  function current() {
    const group = data.groups[Number(controls.group.value)];
    const index = group.maps[Number(controls.stages.value)][Number(controls.paths.value)];
    return { group, graph: index === null ? null : data.graphs[index] };
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function table(rows) {
    const t = el("table");
    for (const row of rows) {
      const tr = el("tr");
      row.forEach((cell, i) => tr.appendChild(el("td", String(cell), i > 0 ? "num" : "")));
      t.appendChild(tr);
    }
    return t;
  }

  function section(panel, heading, rows, none) {
    panel.appendChild(el("h3", heading));
    panel.appendChild(rows.length ? table(rows) : el("p", none, "note"));
  }

  function show() {
    const { group, graph } = current();
    const stages = data.stops[Number(controls.stages.value)];
    const paths = data.stops[Number(controls.paths.value)];
    $("stages-value").textContent = pct(stages);
    $("paths-value").textContent = pct(paths);
    const svg = graph ? graph.svg[Number(controls.view.value)] : -1;
    document.querySelectorAll(".drawing").forEach((d) => { d.hidden = d.id !== "d" + svg; });
    const by = Number(controls.group.value) ? " (" + group.label + ")" : "";
    const command = controls.view.value === "2"
      ? "cjm check " + data.logs + " --design " + data.design : "cjm discover " + data.logs;
    $("command").textContent = command + " --stages " + pct(stages) + " --paths "
      + pct(paths) + by;
    $("hidden").textContent = graph ? graph.hidden : "";
    $("failed").hidden = graph !== null;
    $("failed").textContent = graph ? "" : "Not drawn at this stop: " + group.failed;
    const map = $("map");
    map.classList.toggle("focus-goals", controls.goals.checked);
    map.classList.toggle("focus-handoffs", controls.handoffs.checked);
    if (selected) select(selected, false);
  }

  function select(key, focus) {
    selected = key;
    document.querySelectorAll("g.selected").forEach((g) => g.classList.remove("selected"));
    const { group, graph } = current();
    const drawn = document.querySelector(".drawing:not([hidden])");
    if (drawn) {
      const g = drawn.querySelector('g[data-k="' + CSS.escape(key) + '"]');
      if (g) { g.classList.add("selected"); if (focus) g.focus(); }
    }
    const panel = $("panel");
    panel.replaceChildren();
    const context = group.context[key] || { paths: [], examples: [] };
    const edge = key.includes(">");
    const [a, b] = key.split(">");
    panel.appendChild(el("h2", edge ? name(a) + " \u2192 " + name(b) : name(key)));
    panel.dataset.key = key;
    const figures = graph ? (edge ? graph.edges[key] : graph.nodes[key]) : null;
    if (!figures) {
      panel.appendChild(el("p", "Not on the map at these settings.", "note"));
    } else if (edge) {
      const rows = [["transitions", count(figures[0])], ["median wait", figures[1]]];
      if (figures[2] > 0) rows.push(["hand-offs", pct(figures[2])]);
      section(panel, "On this map", rows, "");
    } else {
      const rows = [["journeys", count(figures[1])], ["events", count(figures[0])]];
      if (figures[2]) rows.push(["goal stage", "yes"]);
      if (figures[4] > 0) rows.push(["dead-end here", pct(figures[4])]);
      section(panel, "On this map", rows, "");
    }
    if (context.figures) {
      const f = context.figures;
      section(panel, "With every stage", [["transitions", count(f[0])], ["journeys", count(f[1])],
        ["median wait", f[2]], ["90th percentile wait", f[3]], ["hand-offs", count(f[4])]], "");
    }
    if (!edge) {
      section(panel, "Went next", (context.next || []).map(([k, n]) => [name(k), count(n)]),
              "None: journeys end here.");
      section(panel, "Came from", (context.from || []).map(([k, n]) => [name(k), count(n)]),
              "None: journeys start here.");
    }
    section(panel, "Top paths through it",
            context.paths.map(([stages, n]) => [stages.map(name).join(" \u2192 "), count(n)]),
            "None among the paths with every stage.");
    panel.appendChild(el("h3", "Example journeys"));
    if (data.private) {
      panel.appendChild(el("p", "Withheld: the log was read with --pseudonymize or "
                           + "--min-journeys.", "note"));
    } else {
      panel.appendChild(context.examples.length ? el("p", context.examples.join(", "))
                        : el("p", "None.", "note"));
    }
  }

  function chosen(event) {
    const g = event.target.closest && event.target.closest("g[data-k]");
    if (g) select(g.dataset.k, false);
  }

  $("map").addEventListener("click", chosen);
  $("map").addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); chosen(event); }
  });
  for (const control of Object.values(controls)) control.addEventListener("input", show);
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  show();
})();
