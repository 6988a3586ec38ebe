// The report page's table sorting and query filter, inlined into index.html by raereid.report.page.
(function () {
  function value(row, col) {
    var cell = row.cells[col], v = cell.getAttribute('data-value');
    if (v === null) return cell.textContent.trim().toLowerCase();
    return v === '' ? null : parseFloat(v);
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var now = th.getAttribute('aria-sort');
        var asc = now ? now !== 'ascending' : th.getAttribute('data-first') !== 'descending';
        table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = value(a, col), y = value(b, col);
          if (x === null || y === null) return (x === null) - (y === null);
          var d = x < y ? -1 : (x > y ? 1 : 0);
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var pid = document.getElementById('filter-pid'), cam = document.getElementById('filter-cam');
  var count = document.getElementById('filter-count');
  function filter() {
    var wantPid = pid.value.trim(), wantCam = cam.value, shown = 0, all = document.querySelectorAll('.query');
    if (wantPid !== '' && !isNaN(parseInt(wantPid, 10))) wantPid = String(parseInt(wantPid, 10));
    all.forEach(function (q) {
      var ok = (wantPid === '' || q.getAttribute('data-pid') === wantPid) &&
        (wantCam === '' || q.getAttribute('data-cam') === wantCam);
      q.hidden = !ok;
      if (ok) shown += 1;
    });
    count.textContent = shown + ' of ' + all.length + ' queries shown';
  }
  if (pid && cam && count) {
    pid.addEventListener('input', filter);
    cam.addEventListener('change', filter);
    filter();
  }
})();
