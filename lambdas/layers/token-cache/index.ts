export const hello = (): string => "token-cache";
