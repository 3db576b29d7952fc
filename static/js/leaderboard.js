// Progressive enhancement for the leaderboard filters: apply a select or checkbox as soon as it
// changes. Without JavaScript the "Apply" button does the same through the GET form.
(function () {
  "use strict";
  var form = document.querySelector("form.lb-filters[role=search]");
  if (!form) return;
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target && (target.tagName === "SELECT" || target.type === "checkbox")) {
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
})();
