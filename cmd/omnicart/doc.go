// Command omnicart runs the OmniCart payment gateway server and its operator
// subcommands:
//
//	omnicart serve [--listen ADDR] [--database URL] [--public-url URL] [--demo]
//	omnicart merchant create --name NAME [--items a,b] [--mode test|live] [--all-privileges] [--json]
//	omnicart merchant list [--json]
//	omnicart merchant update --merchant ID [--name NAME] [--privileges LIST] [--capture-window MIN-MAX] ... [--json]
//	omnicart key create --merchant ID [--methods init,status,...]
//	omnicart key list --merchant ID [--json]
//	omnicart key revoke --merchant ID KEYPREFIX
//	omnicart items add --merchant ID a,b,c
//	omnicart items import --merchant ID --csv FILE
//	omnicart items list --merchant ID [--json]
//	omnicart items remove --merchant ID --item ID [--force] [--json]
//	omnicart user create|list|remove --merchant ID ... [--json]
//	omnicart callbacks add|list|remove|rotate|enable|disable|deliveries|events|resend --merchant ID ...
//	omnicart migrate
//	omnicart version
//
// Every command takes --help (-h). Every subcommand takes --database (env
// OMNICART_DATABASE; sqlite:PATH or postgres://...); they work while
// servers run on the same database. serve and migrate create the database
// when it does not exist; the others refuse a database that does not
// exist, and an unknown --merchant.
// This is the only package that chooses the storage engine and wires
// adapters together.
package main
