package keyring

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds on what sessctl reads of one row. A key the key manager writes is
// a few kilobytes and ten elements deep at most (a certificate-encrypted
// key: key/descriptor/descriptor/encryptedSecret/EncryptedData/KeyInfo/
// EncryptedKey/KeyInfo/X509Data/X509Certificate); anything past these is
// reported as not checked, never parsed further.
const (
	// MaxXMLBytes is the largest Xml value sessctl parses.
	MaxXMLBytes = 1 << 20
	// MaxDepth is the deepest element nesting sessctl follows.
	MaxDepth = 32
	// maxNodes bounds the elements of one row, so that a megabyte of
	// "<a/>" does not become a quarter of a million nodes.
	maxNodes = 4096
)

const (
	nsXML            = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS          = "http://www.w3.org/2000/xmlns/"
	nsDataProtection = "http://schemas.asp.net/2015/03/dataProtection"
)

// node is one element of a row's XML, with its namespace resolved the way
// System.Xml.Linq resolves it: Name.Space is the namespace URI ("" for
// none), never a prefix.
type node struct {
	name     xml.Name
	attrs    []xml.Attr // namespace declarations left out
	content  []any      // string (text, CDATA included) or *node, in document order
	comments []string   // comments directly inside this element
}

// attr is the value of the attribute with the given namespace and local
// name, as XElement.Attribute(XName) finds it.
func (n *node) attr(space, local string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// child is the first child element with the given name, as
// XElement.Element(XName) finds it.
func (n *node) child(space, local string) *node {
	for _, c := range n.content {
		if e, ok := c.(*node); ok && e.name.Space == space && e.name.Local == local {
			return e
		}
	}
	return nil
}

// elements are the child elements, as XElement.Elements() lists them.
func (n *node) elements() []*node {
	var out []*node
	for _, c := range n.content {
		if e, ok := c.(*node); ok {
			out = append(out, e)
		}
	}
	return out
}

// value is the text of the element and all its descendants, as
// XElement.Value concatenates it (comments are not text).
func (n *node) value() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		for _, c := range n.content {
			switch c := c.(type) {
			case string:
				b.WriteString(c)
			case *node:
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// Why a row's XML was not read.
var (
	// errMalformed: not well-formed XML, so XElement.Parse throws on it.
	errMalformed = errors.New("not well-formed XML")
	// errUnchecked: well-formed or not, past sessctl's bounds or using a
	// DTD sessctl does not process; ASP.NET Core may read it.
	errUnchecked = errors.New("not checked")
)

// parsed is one row's XML as a tree, and what was noticed on the way.
type parsed struct {
	root    *node
	doctype bool // the row has a <!DOCTYPE …>
}

// parseXML reads one row's XML with encoding/xml, the standard library,
// as a token stream: RawToken, so that comments, the DOCTYPE and namespace
// prefixes are seen as written, and the checks that XElement.Parse makes
// and encoding/xml does not (one root element, no text outside it, end
// tags matching, prefixes declared, no duplicate attributes) are made
// here.
//
// Untrusted input: encoding/xml never fetches external entities and never
// reads a DTD. A <!DOCTYPE …> comes back as a Directive token and nothing
// in it is processed; in Strict mode every entity reference other than the
// five predefined ones and character references is a syntax error, so no
// entity is ever expanded ("billion laughs" cannot happen). ASP.NET Core is
// more permissive: XElement.Parse reads with DtdProcessing.Parse and
// expands internal entities up to 10^7 characters (XNode.
// GetXmlReaderSettings). The key manager never writes a DOCTYPE, so a row
// with one is reported, and if it relies on an entity sessctl reports the
// row as not checked rather than guess what the entity means.
func parseXML(s string) (*parsed, error) {
	if len(s) > MaxXMLBytes {
		return nil, fmt.Errorf("%w: the Xml is %d bytes, over the %d bytes sessctl reads", errUnchecked, len(s), MaxXMLBytes)
	}
	s = strings.TrimPrefix(s, "\uFEFF")
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	// The value came out of a text column already decoded; an encoding
	// named in an XML declaration does not apply to it (as for
	// XElement.Parse, which reads a string).
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	tr := &treeReader{d: d, p: &parsed{}}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			var syn *xml.SyntaxError
			if tr.p.doctype && errors.As(err, &syn) && strings.Contains(syn.Msg, "entity") {
				return tr.p, fmt.Errorf("%w: it refers to an entity its DOCTYPE declares, and sessctl does not process DTDs (%s)", errUnchecked, tr.syntax(err))
			}
			return nil, fmt.Errorf("%w: %s", errMalformed, tr.syntax(err))
		}
		tr.tokens++
		if err := tr.token(tok); err != nil {
			return nil, err
		}
	}
	if len(tr.stack) > 0 {
		return nil, tr.malformed("<%s> is not closed", rawName(tr.stack[len(tr.stack)-1].raw))
	}
	if tr.p.root == nil {
		return nil, fmt.Errorf("%w: no root element", errMalformed)
	}
	return tr.p, nil
}

// treeReader builds the tree of parseXML from the decoder's raw tokens.
type treeReader struct {
	d             *xml.Decoder
	p             *parsed
	stack         []openElement
	tokens, nodes int
}

// openElement is an element whose end tag is still to come.
type openElement struct {
	n   *node
	raw xml.Name          // as written, prefix in Space
	ns  map[string]string // prefixes this element declares
}

// lookup is the namespace prefix stands for where the reader is.
func (tr *treeReader) lookup(prefix string) (string, bool) {
	switch prefix {
	case "xml":
		return nsXML, true
	case "xmlns":
		return nsXMLNS, true
	}
	for i := len(tr.stack) - 1; i >= 0; i-- {
		if uri, ok := tr.stack[i].ns[prefix]; ok {
			return uri, true
		}
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

// quotableSyntax are the messages of encoding/xml's syntax errors that
// quote nothing of the input. Its other messages quote the text around
// the fault ("invalid character entity &…", "invalid XML name: …"), which
// may be an unencrypted master key, so they are never shown.
var quotableSyntax = map[string]bool{
	"unexpected EOF": true, "expected element name after <": true, "invalid UTF-8": true,
	"unquoted or missing attribute value in element": true, "expected attribute name in element": true,
	"attribute name without = in element": true, "unescaped ]]> not in CDATA section": true,
}

// syntax says where the decoder's err is, and what it is when its message
// quotes none of the row.
func (tr *treeReader) syntax(err error) string {
	line, col := tr.d.InputPos()
	msg := err.Error()
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		msg = syn.Msg
	}
	if !quotableSyntax[msg] {
		msg = "a syntax error (the parser's own words are left out, as they quote the row)"
	}
	return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
}

func (tr *treeReader) malformed(format string, args ...any) error {
	line, col := tr.d.InputPos()
	return fmt.Errorf("%w: line %d, column %d: %s", errMalformed, line, col, fmt.Sprintf(format, args...))
}

// token adds one token to the tree.
func (tr *treeReader) token(tok xml.Token) error {
	switch t := tok.(type) {
	case xml.StartElement:
		return tr.start(t)
	case xml.EndElement:
		if len(tr.stack) == 0 {
			return tr.malformed("end tag </%s> without a start tag", shownName(t.Name))
		}
		if top := tr.stack[len(tr.stack)-1].raw; top != t.Name {
			return tr.malformed("end tag </%s> does not close <%s>", shownName(t.Name), shownName(top))
		}
		tr.stack = tr.stack[:len(tr.stack)-1]
	case xml.CharData:
		if len(tr.stack) == 0 {
			if !isXMLSpace(string(t)) {
				return tr.malformed("text outside the root element")
			}
			return nil
		}
		top := tr.stack[len(tr.stack)-1].n
		top.content = append(top.content, string(t))
	case xml.Comment:
		if len(tr.stack) > 0 {
			top := tr.stack[len(tr.stack)-1].n
			top.comments = append(top.comments, string(t))
		}
	case xml.ProcInst:
		if strings.EqualFold(t.Target, "xml") && tr.tokens != 1 {
			return tr.malformed("an XML declaration that is not at the start")
		}
	case xml.Directive:
		dir := strings.TrimLeft(string(t), " \t\r\n")
		if !strings.HasPrefix(dir, "DOCTYPE") || tr.p.root != nil || tr.p.doctype {
			return tr.malformed("<!%s> where XML allows none", firstWord(dir))
		}
		tr.p.doctype = true
	}
	return nil
}

// start opens element t: its namespace declarations first, then its name
// and attributes resolved with them.
func (tr *treeReader) start(t xml.StartElement) error {
	if len(tr.stack) == 0 && tr.p.root != nil {
		return tr.malformed("a second root element <%s>: a row holds one element", rawName(t.Name))
	}
	if len(tr.stack) >= MaxDepth {
		return fmt.Errorf("%w: elements nest deeper than %d", errUnchecked, MaxDepth)
	}
	if tr.nodes++; tr.nodes > maxNodes {
		return fmt.Errorf("%w: more than %d elements", errUnchecked, maxNodes)
	}
	o, err := tr.declarations(t)
	if err != nil {
		return err
	}
	tr.stack = append(tr.stack, o)
	n := &node{}
	space, ok := tr.lookup(t.Name.Space)
	if !ok {
		return tr.malformed("prefix %q of <%s> is not declared", t.Name.Space, rawName(t.Name))
	}
	n.name = xml.Name{Space: space, Local: t.Name.Local}
	if n.attrs, err = tr.attributes(t); err != nil {
		return err
	}
	if len(tr.stack) == 1 {
		tr.p.root = n
	} else {
		parent := tr.stack[len(tr.stack)-2].n
		parent.content = append(parent.content, n)
	}
	tr.stack[len(tr.stack)-1].n = n
	return nil
}

// declarations reads the namespace declarations of t, refusing an
// attribute written twice.
func (tr *treeReader) declarations(t xml.StartElement) (openElement, error) {
	o := openElement{raw: t.Name}
	seen := map[xml.Name]bool{}
	for _, a := range t.Attr {
		if seen[a.Name] {
			return o, tr.malformed("attribute %s appears twice", shownName(a.Name))
		}
		seen[a.Name] = true
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			if o.ns == nil {
				o.ns = map[string]string{}
			}
			o.ns[""] = a.Value
		case a.Name.Space == "xmlns":
			if a.Value == "" {
				return o, tr.malformed("prefix %q is declared with an empty namespace", a.Name.Local)
			}
			if o.ns == nil {
				o.ns = map[string]string{}
			}
			o.ns[a.Name.Local] = a.Value
		}
	}
	return o, nil
}

// attributes are t's attributes other than declarations, their names
// resolved, refusing two that resolve to one name.
func (tr *treeReader) attributes(t xml.StartElement) ([]xml.Attr, error) {
	var out []xml.Attr
	resolved := map[xml.Name]bool{}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		name := xml.Name{Local: a.Name.Local} // an unprefixed attribute is in no namespace
		if a.Name.Space != "" {
			uri, ok := tr.lookup(a.Name.Space)
			if !ok {
				return nil, tr.malformed("a prefix of attribute %s is not declared", shownName(a.Name))
			}
			name.Space = uri
		}
		if resolved[name] {
			return nil, tr.malformed("attribute %s appears twice", shownName(xml.Name{Local: name.Local}))
		}
		resolved[name] = true
		out = append(out, xml.Attr{Name: name, Value: a.Value})
	}
	return out, nil
}

// shownName is n as a message about malformed XML may quote it: a name
// of the elements and attributes ASP.NET Core writes in a key ring, or "…"
// for any other, which a corrupted row may have cut out of a secret (an
// unencrypted master key's text turned into a tag by a stray "<").
func shownName(n xml.Name) string {
	if knownNames[n.Local] && (n.Space == "" || knownNames[n.Space]) {
		return rawName(n)
	}
	return "…"
}

// knownNames are the local names (and prefixes) of a key ring's XML:
// XmlKeyManager's elements and attributes, the built-in descriptors', and
// XML Encryption's and DPAPI's wrapping of a secret.
var knownNames = map[string]bool{
	"key": true, "id": true, "version": true, "creationDate": true, "activationDate": true, "expirationDate": true,
	"descriptor": true, "deserializerType": true, "encryption": true, "validation": true, "algorithm": true,
	"masterKey": true, "value": true, "requiresEncryption": true, "encryptedSecret": true, "decryptorType": true,
	"encryptedKey": true, "protectionDescriptor": true, "revocation": true, "revocationDate": true, "reason": true,
	"EncryptedData": true, "EncryptionMethod": true, "KeyInfo": true, "CipherData": true, "CipherValue": true,
	"X509Data": true, "X509Certificate": true, "Type": true, "Algorithm": true, "xmlns": true, "d": true, "xml": true,
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		return s[:i]
	}
	return s
}

// isXMLSpace says whether s is only XML white space (space, tab, CR, LF).
func isXMLSpace(s string) bool {
	return strings.Trim(s, xmlSpace) == ""
}

const xmlSpace = " \t\r\n"
