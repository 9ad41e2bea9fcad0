// Forms that change many things ask first: <form data-confirm="…"> (a <select> may give
// each option its own text in data-confirm). Without JavaScript the form just submits.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var text = form.dataset.confirm;
      var select = form.querySelector("select[data-confirm-from-option]");
      if (select) {
        var option = select.options[select.selectedIndex];
        text = (option && option.dataset.confirm) || text;
      }
      if (!window.confirm(text)) { event.preventDefault(); }
    });
  });
})();
