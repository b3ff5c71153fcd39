// Validates an OpenAPI document against the official JSON schema of its version.
// Usage: node validate.mjs openapi.json   (exit 0 when valid, 1 with the errors otherwise)
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
const validator = new Validator();
const result = await validator.validate(file);
if (!result.valid) {
  console.error(JSON.stringify(result.errors, null, 2));
  process.exit(1);
}
console.log(`${file}: valid OpenAPI ${validator.version}`);
