package store

// RequiredLiteral exports requiredLiteral to the tests.
var RequiredLiteral = requiredLiteral
