// The part of jStat (https://github.com/jstat/jstat) that facekd uses; the package ships no types.
declare module "jstat" {
  const jStat: {
    studentt: { inv(p: number, degreesOfFreedom: number): number };
  };
  export default jStat;
}
