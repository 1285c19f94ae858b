// ESLint with typescript-eslint's type-aware rules: the ones that catch real bugs in an async
// operator (floating or misused promises, unsafe any flowing into API calls), not style. Formatting
// is Prettier's job (npm run format), so no stylistic rules here.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // prom-client calls collect() with the metric as `this`: the registry's owner is reached as `self`.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      eqeqeq: ['error', 'smart'],
      // An async function without await is often one implementation of a Promise-returning interface.
      '@typescript-eslint/require-await': 'off',
      // Its autofix removed assertions the compiler needs (projectService and tsc disagree on a few
      // inferences): typecheck is the judge of assertions.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Objects come from JSON (the API, YAML files): their `any` is narrowed where it is read, by
      // hand-written guards. The no-unsafe-* family would flag every such read without finding bugs.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The operator reads the wall clock through Date.now() alone (luxon does too), so the clock
    // fault tests can step it in-process (docs/operator.md, "Clock faults"): `new Date()` and
    // `Date()` read it directly and would escape them.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Read the wall clock with Date.now() (or the injected clock): new Date(Date.now()).',
        },
        { selector: "CallExpression[callee.name='Date']", message: 'Read the wall clock with Date.now().' },
      ],
    },
  },
  {
    files: ['eslint.config.js'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
