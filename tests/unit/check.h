/* placeholder until the unit-test framework lands */
