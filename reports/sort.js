// Sortable columns for the campaigns table of the daily overview (progressive enhancement:
// without this script the table keeps its server-side order). Inlined into the page and allowed
// by its hash in the page's Content-Security-Policy; it reads data-sort attributes only.
(function () {
  "use strict";
  var table = document.getElementById("campaigns");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var heads = table.tHead.rows[0].cells;
  function key(row, col) {
    var v = row.cells[col].getAttribute("data-sort");
    if (v === null || v === "") { return null; }
    var n = Number(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }
  Array.prototype.forEach.call(heads, function (th, col) {
    if (!th.hasAttribute("data-sortable")) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var descending = th.getAttribute("aria-sort") !== "descending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, col), y = key(b, col);
        if (x === y) { return 0; }
        if (x === null) { return 1; }  // n/a last, whichever the direction
        if (y === null) { return -1; }
        return (x < y ? -1 : 1) * (descending ? -1 : 1);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
}());
// Printing shows the folded detail too: every details element opens before the page prints.
window.addEventListener('beforeprint', () => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
