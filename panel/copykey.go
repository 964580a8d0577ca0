package panel

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
)

// copyScript adds a "Copy key" button beside the new API key shown once on
// the keys page. It is progressive enhancement: without it (or without
// JavaScript) the key stays in a read-only field, selectable and copied as
// any text. The Content-Security-Policy allows this script by its hash
// (copyScriptSource), and no other.
const copyScript template.JS = `(function(){` +
	`var k=document.getElementById("key"),s=document.getElementById("copy-status");` +
	`if(!k||!s)return;` +
	`var b=document.createElement("button");b.type="button";b.id="copy-key";b.textContent="Copy key";` +
	`k.insertAdjacentElement("afterend",b);` +
	`function manual(){k.focus();k.select();s.textContent="Select the key and copy it (Ctrl+C or \u2318C).";}` +
	`b.addEventListener("click",function(){` +
	`if(navigator.clipboard&&navigator.clipboard.writeText){` +
	`navigator.clipboard.writeText(k.value).then(function(){s.textContent="Copied.";},manual);` +
	`}else{manual();}});` +
	`})();`

// copyScriptSource is the CSP source that allows copyScript.
var copyScriptSource = func() string {
	sum := sha256.Sum256([]byte(copyScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()
