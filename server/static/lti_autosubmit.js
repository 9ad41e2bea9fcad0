// The deep-linking answer goes back to the LMS as a form POST (LTI 1.3 Deep Linking).
document.getElementById("lti-autosubmit").submit();
