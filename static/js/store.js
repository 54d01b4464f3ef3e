// The equipment store's counter page: scan asset tags with the phone's camera where the browser
// can read QR codes itself (BarcodeDetector). Typing a tag always works; this only saves typing.
"use strict";

(function () {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  const detector = new window.BarcodeDetector({ formats: ["qr_code"] });

  function addTag(field, tag) {
    const tags = field.value.split(/\s+/).filter(Boolean);
    if (field.tagName === "INPUT") {
      field.value = tag;
    } else if (!tags.includes(tag)) {
      tags.push(tag);
      field.value = tags.join("\n");
    }
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  async function scan(button) {
    const field = document.getElementById(button.dataset.scanInto);
    const video = document.createElement("video");
    video.className = "store-camera";
    video.setAttribute("playsinline", "");
    video.muted = true;
    button.after(video);
    button.disabled = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      await video.play();
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline) {
        const codes = await detector.detect(video);
        if (codes.length) {
          addTag(field, codes[0].rawValue.trim().toUpperCase());
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } catch (error) {
      // No camera, or permission refused: the field is still there to type into.
    } finally {
      if (stream) {
        stream.getTracks().forEach((track) => track.stop());
      }
      video.remove();
      button.disabled = false;
      field.focus();
    }
  }

  document.querySelectorAll("button.store-scan").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      scan(button);
    });
  });
})();
